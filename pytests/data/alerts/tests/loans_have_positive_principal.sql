select * from {{ ref('m_loans') }} where principal <= 0
